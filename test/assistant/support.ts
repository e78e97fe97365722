import { newId } from '../../src/server/lib/ids.js';
import { assistantRepo } from '../../src/server/modules/assistant/assistant.repo.js';
import type { Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

/**
 * A conversation of `session` holding one proposal, written straight to the assistant's tables:
 * for tests of what follows a generation (run, save, delete) on a server with no provider.
 */
export async function seedProposal(
  server: TestServer,
  session: Session,
  command: string,
  level: 'safe' | 'caution' | 'dangerous' = 'safe',
): Promise<{ conversation_id: string; message_id: string }> {
  const now = new Date().toISOString();
  const conversationId = newId();
  const messageId = newId();
  const db = server.database.db;
  await assistantRepo.insertConversation(db, {
    id: conversationId,
    org_id: session.orgId,
    user_id: session.userId,
    title: `please ${command}`,
    os_type: 'ubuntu',
    shell: 'bash',
    agent_id: null,
    created_at: now,
    updated_at: now,
  });
  await assistantRepo.insertMessage(db, {
    id: messageId,
    conversation_id: conversationId,
    role: 'assistant',
    content: `runs ${command}`,
    proposal: {
      command,
      shell: 'bash',
      explanation: `runs ${command}`,
      parameters: [],
      safety: {
        level,
        analyzer_level: level,
        model_level: level,
        findings: [],
        model_reasons: [],
        confirmation: level === 'safe' ? 'none' : level === 'caution' ? 'confirm' : 'confirm_dangerous',
      },
      estimated_duration_seconds: 1,
      model: 'seeded',
    },
    job_id: null,
    run_id: null,
    created_at: now,
  });
  return { conversation_id: conversationId, message_id: messageId };
}
