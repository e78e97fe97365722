import { expect } from 'vitest';
import { FakeProvider, proposal } from '../../assistant/fake-provider.js';
import { seedProposal } from '../../assistant/support.js';
import { created, deleted, modified } from './builders.js';
import type { AuditCases } from './fixture.js';

/** The command assistant: generations (against a local fake provider), reviews, runs, saves. */
export const assistantCases: AuditCases = {
  'POST /api/v1/assistant/generate': created('assistant_proposal', async (f) => {
    const fake = await new FakeProvider().start();
    fake.next({ kind: 'answer', answer: proposal('uptime') });
    await f.as(
      'PUT',
      '/api/v1/settings/ai',
      { enabled: true, provider_url: fake.url, model: 'audited' },
      200,
    );
    return {
      body: { prompt: 'how long has it been up', os_type: 'ubuntu' },
      entityId: (reply) => reply.message_id,
      check: (e) =>
        expect(e.after).toMatchObject({
          request: 'how long has it been up',
          model: 'audited',
          command: 'uptime',
        }),
      undo: () => fake.close(),
    };
  }),
  'POST /api/v1/assistant/review': created('assistant_review', async () => ({
    body: { command: 'ls -la', shell: 'bash' },
    check: (e) => expect(e.after).toMatchObject({ command: 'ls -la', shell: 'bash' }),
  })),
  'POST /api/v1/assistant/run': modified('assistant_proposal', async (f) => {
    const seeded = await seedProposal(f.server, f.owner, 'echo audited', 'caution');
    return {
      body: { ...seeded, agent_id: await f.agent(), confirm: true },
      entityId: seeded.message_id,
      check: (e, reply) =>
        expect(e.after).toMatchObject({ job_id: reply.job_id, command: 'echo audited', confirmed: true }),
    };
  }),
  'POST /api/v1/assistant/save': created('script', async (f) => ({
    body: { ...(await seedProposal(f.server, f.owner, 'df -h')), name: `saved ${Date.now()}` },
    check: (e) => expect(e.after).toMatchObject({ content: 'df -h', language: 'bash' }),
  })),
  'DELETE /api/v1/assistant/conversations/{id}': deleted('assistant_conversation', async (f) => {
    const seeded = await seedProposal(f.server, f.owner, 'whoami');
    return { params: { id: seeded.conversation_id }, check: (e) => expect(e.before.shell).toBe('bash') };
  }),
};
