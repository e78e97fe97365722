import { randomBytes } from 'node:crypto';
import type { Services } from '../server/app.js';
import { inTransaction } from '../server/db/executor.js';
import type { Database } from '../server/db/database.js';
import { accessRepo } from '../server/modules/access/access.repo.js';
import {
  builtinRoleNames,
  PermissionSet,
  type BuiltinRoleName,
} from '../server/modules/access/permissions.js';
import { authRepo } from '../server/modules/auth/auth.repo.js';
import { hashPassword } from '../server/modules/auth/passwords.js';
import { newId } from '../server/lib/ids.js';
import { demoSteps, type DemoOrg } from './demo-content.js';

const meta = { ip: null, userAgent: 'fleetplane db seed', requestId: null };

export interface SeedReport {
  org: string;
  users: { email: string; role: string; password: string }[];
  /** What the content steps made, a line each (secrets shown once). */
  content: string[];
}

export class AlreadySeeded extends Error {}

/**
 * Demo data: an organisation "Demo" with a user per built-in role (one password for all), then
 * the content of `demoSteps` made through the services as its owner. Run twice, it refuses
 * before writing anything: the demo users exist.
 */
export async function seedDemo(database: Database, services: Services): Promise<SeedReport> {
  const password = randomBytes(9).toString('base64url');
  const passwordHash = await hashPassword(password);
  const { org, users, roles, ownerId } = await inTransaction(database.db, async (trx) => {
    const now = new Date().toISOString();
    const users = builtinRoleNames.map((role) => ({
      id: newId(),
      email: `${role}@demo.fleetplane.local`,
      role,
    }));
    for (const user of users) {
      if (await authRepo.findUserByEmail(trx, user.email))
        throw new AlreadySeeded(`${user.email} exists: the demo data is already seeded`);
      await authRepo.insertUser(trx, {
        id: user.id,
        email: user.email,
        name: `Demo ${user.role}`,
        password_hash: passwordHash,
        created_at: now,
        updated_at: now,
        disabled_at: null,
      });
    }
    const [owner, ...others] = users;
    if (!owner) throw new Error('no roles');
    const org = await services.orgs.createWithOwner(
      trx,
      { orgId: null, actor: { type: 'system', id: null, label: 'seed' }, meta },
      { name: 'Demo', ownerUserId: owner.id },
    );
    const roles = {} as Record<BuiltinRoleName, string>;
    for (const name of builtinRoleNames) {
      const role = await accessRepo.findRoleByName(trx, org.id, name);
      if (!role) throw new Error(`role ${name} missing`);
      roles[name] = role.id;
    }
    for (const user of others) {
      await accessRepo.insertMembership(trx, org.id, user.id, now);
      await accessRepo.setMemberRoles(trx, org.id, user.id, [roles[user.role]]);
    }
    return { org, users, roles, ownerId: owner.id };
  });
  const demo: DemoOrg = {
    orgId: org.id,
    owner: {
      orgId: org.id,
      actor: { type: 'user', id: ownerId, label: 'owner@demo.fleetplane.local' },
      userId: ownerId,
      sessionId: null,
      permissions: PermissionSet.fromRoles([{ name: 'owner', builtin: true, permissions: [] }]),
      meta,
    },
    roles,
    made: new Map(),
  };
  const content: string[] = [];
  for (const step of demoSteps) content.push(...(await step(services, demo)));
  return { org: org.name, users: users.map((u) => ({ email: u.email, role: u.role, password })), content };
}
