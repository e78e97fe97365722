import { expect } from 'vitest';
import { call, login, PASSWORD, uniqueEmail, type Session } from '../../support/client.js';
import { created, modified, sessionEvent } from './builders.js';
import { sessionIdOf, type AuditCases } from './fixture.js';

const NEW_PASSWORD = 'a brand new passphrase';

/** A sign-in with a password, `body` made for a new user: a new session, read with its token. */
const passwordLogin = (label: string, body: (user: Session) => unknown) =>
  sessionEvent('login', async (f) => {
    const user = await f.user(label);
    return {
      caller: null,
      body: body(user),
      entityId: (reply) => sessionIdOf(reply.access_token),
      outcome: (reply) => ({ reader: reply.access_token, actorId: user.userId }),
    };
  });

/** Sign-up, sessions, passwords and organisations. */
export const authCases: AuditCases = {
  'POST /api/v1/auth/signup': created('user', async () => {
    const email = uniqueEmail('joiner');
    return {
      caller: null,
      body: { email, password: PASSWORD, name: 'joiner', org_name: 'joiner org' },
      entityId: (reply) => reply.user.id,
      outcome: (reply) => ({ reader: reply.access_token, actorId: reply.user.id }),
      check: (e) => {
        expect(e.after.email).toBe(email);
        expect(JSON.stringify(e)).not.toContain(PASSWORD);
      },
    };
  }),
  'POST /api/v1/auth/login': passwordLogin('login', (user) => ({ email: user.email, password: PASSWORD })),
  'POST /api/v1/auth/token': passwordLogin('tool', (user) => ({
    grant_type: 'password',
    username: user.email,
    password: PASSWORD,
  })),
  'POST /api/v1/auth/refresh': {
    action: 'login',
    entityType: 'session',
    before: false,
    after: true,
    async prepare(f) {
      const user = await f.user('refresher');
      return {
        caller: null,
        body: { refresh_token: user.refreshToken },
        // The same session goes on with new tokens.
        entityId: sessionIdOf(user.token),
        outcome: (reply) => ({ reader: reply.access_token, actorId: user.userId }),
        check: (e, reply) => {
          expect(e.after).toEqual({ via: 'refresh' });
          expect(JSON.stringify(e)).not.toContain(reply.refresh_token);
        },
      };
    },
  },
  'POST /api/v1/auth/logout': sessionEvent('logout', async (f) => {
    const user = await f.user('leaver');
    return {
      caller: user,
      entityId: sessionIdOf(user.token),
      outcome: async () => {
        expect((await call(f.server, 'GET', '/api/v1/auth/me', { token: user.token })).status).toBe(401);
        return { reader: (await login(f.server, user.email)).token, actorId: user.userId };
      },
    };
  }),
  'POST /api/v1/auth/password': {
    action: 'modified',
    entityType: 'user',
    before: false,
    after: true,
    async prepare(f) {
      const user = await f.user('changer');
      return {
        caller: user,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        entityId: user.userId,
        check: (e) => expect(JSON.stringify(e)).not.toContain(NEW_PASSWORD),
      };
    },
  },
  'POST /api/v1/auth/password-reset': created('password_reset', async (f) => {
    const user = await f.user('forgetful');
    return {
      caller: null,
      body: { email: user.email },
      // The reset's id is never shown to the caller.
      entityId: null,
      // Nobody is signed in: the event names the email asked for, and lands in its organisation.
      outcome: () => ({ reader: user.token, actorType: 'anonymous', actorId: null }),
      check: (e) => {
        expect(e.actor_label).toBe(user.email);
        expect(e.after).toEqual({ user_id: user.userId });
        expect(JSON.stringify(e)).not.toContain(f.resetTokenFor(user.email));
      },
    };
  }),
  'POST /api/v1/auth/password-reset/confirm': {
    action: 'modified',
    entityType: 'user',
    before: false,
    after: true,
    async prepare(f) {
      const user = await f.user('resetter');
      await call(f.server, 'POST', '/api/v1/auth/password-reset', { body: { email: user.email } });
      const token = f.resetTokenFor(user.email);
      return {
        caller: null,
        body: { token, new_password: NEW_PASSWORD },
        entityId: user.userId,
        // The reset ends every session: the event is read from a new one.
        outcome: async () => ({
          reader: (await login(f.server, user.email, NEW_PASSWORD)).token,
          actorId: user.userId,
        }),
        check: (e) => {
          // Only that the password was reset, masked as any field named like a secret.
          expect(Object.keys(e.after)).toEqual(['password']);
          expect(JSON.stringify(e)).not.toContain(token);
        },
      };
    },
  },
  'POST /api/v1/auth/switch-org': sessionEvent('login', async (f) => {
    const user = await f.user('switcher');
    const second = await f.as('POST', '/api/v1/orgs', { name: 'second org' }, 201, user);
    return {
      caller: user,
      body: { org_id: second.id },
      entityId: (reply) => sessionIdOf(reply.access_token),
      // The new session belongs to the organisation switched to, and so does its event.
      outcome: (reply) => ({ reader: reply.access_token }),
    };
  }),
  'POST /api/v1/orgs': created('organization', async (f) => ({
    body: { name: 'Second org' },
    // The event belongs to the new organisation: read it from a session there.
    outcome: async (reply) => ({
      reader: (await f.as('POST', '/api/v1/auth/switch-org', { org_id: reply.id }, 200)).access_token,
    }),
    check: (e) => expect(e.after.name).toBe('Second org'),
  })),
  'PATCH /api/v1/orgs/current': modified('organization', async (f) => {
    const before = await f.as('GET', '/api/v1/orgs/current', undefined, 200);
    return {
      body: { name: 'Renamed org' },
      entityId: f.owner.orgId,
      check: (e) => {
        expect(e.before.name).toBe(before.name);
        expect(e.after.name).toBe('Renamed org');
      },
    };
  }),
};
