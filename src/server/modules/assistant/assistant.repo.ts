import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';
import type {
  AssistantConversationsTable,
  AssistantMessagesTable,
  AssistantUsageTable,
} from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { Proposal } from './assistant.schemas.js';

export type Conversation = AssistantConversationsTable;

/** A message as stored, its proposal decoded. */
export interface Message extends Omit<AssistantMessagesTable, 'proposal' | 'role'> {
  role: 'user' | 'assistant';
  proposal: Proposal | null;
}

function decode(row: AssistantMessagesTable): Message {
  return {
    ...row,
    role: row.role === 'assistant' ? 'assistant' : 'user',
    proposal: row.proposal === null ? null : (JSON.parse(row.proposal) as Proposal),
  };
}

/** Conversations are the user's own: every read is scoped by organisation AND user. */
export interface Owner {
  orgId: string;
  userId: string;
}

export const assistantRepo = {
  insertConversation(db: Executor, row: Conversation): Promise<unknown> {
    return db.insertInto('assistant_conversations').values(row).execute();
  },

  getConversation(db: Executor, owner: Owner, id: string): Promise<Conversation | undefined> {
    return db
      .selectFrom('assistant_conversations')
      .selectAll()
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', owner.userId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  listConversations(db: Executor, owner: Owner, page: PageParams): Promise<Page<Conversation>> {
    const q = db
      .selectFrom('assistant_conversations')
      .selectAll()
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', owner.userId);
    return paginate(q, 'id', page);
  },

  touchConversation(db: Executor, id: string, at: string): Promise<unknown> {
    return db.updateTable('assistant_conversations').set({ updated_at: at }).where('id', '=', id).execute();
  },

  removeConversation(db: Executor, owner: Owner, id: string): Promise<unknown> {
    return db
      .deleteFrom('assistant_conversations')
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', owner.userId)
      .where('id', '=', id)
      .execute();
  },

  insertMessage(db: Executor, message: Message): Promise<unknown> {
    return db
      .insertInto('assistant_messages')
      .values({ ...message, proposal: message.proposal === null ? null : JSON.stringify(message.proposal) })
      .execute();
  },

  /** The newest `limit` messages, oldest first: what the model is told of the conversation. */
  async recentMessages(db: Executor, conversationId: string, limit: number): Promise<Message[]> {
    const rows = await db
      .selectFrom('assistant_messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.reverse().map(decode);
  },

  async messages(db: Executor, conversationId: string): Promise<Message[]> {
    const rows = await db
      .selectFrom('assistant_messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(decode);
  },

  async getMessage(db: Executor, conversationId: string, id: string): Promise<Message | undefined> {
    const row = await db
      .selectFrom('assistant_messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  linkRun(
    db: Executor,
    id: string,
    link: { job_id: string | null; run_id: string | null },
  ): Promise<unknown> {
    return db.updateTable('assistant_messages').set(link).where('id', '=', id).execute();
  },

  insertUsage(db: Executor, row: AssistantUsageTable): Promise<unknown> {
    return db.insertInto('assistant_usage').values(row).execute();
  },

  async usageSince(
    db: Executor,
    owner: Owner,
    since: string,
  ): Promise<{ prompt_tokens: number; completion_tokens: number; requests: number }> {
    const row = await db
      .selectFrom('assistant_usage')
      .select([
        sql<string | number | null>`sum(prompt_tokens)`.as('prompt'),
        sql<string | number | null>`sum(completion_tokens)`.as('completion'),
        sql<string | number>`count(*)`.as('requests'),
      ])
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', owner.userId)
      .where('created_at', '>=', since)
      .executeTakeFirst();
    // PostgreSQL answers sums and counts of bigints as text.
    return {
      prompt_tokens: Number(row?.prompt ?? 0),
      completion_tokens: Number(row?.completion ?? 0),
      requests: Number(row?.requests ?? 0),
    };
  },
};
