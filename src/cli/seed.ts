import { randomBytes } from 'node:crypto';
import type { Services } from '../server/app.js';
import { inTransaction } from '../server/db/executor.js';
import type { Database } from '../server/db/database.js';
import { accessRepo } from '../server/modules/access/access.repo.js';
import { builtinRoleNames } from '../server/modules/access/permissions.js';
import { authRepo } from '../server/modules/auth/auth.repo.js';
import { hashPassword } from '../server/modules/auth/passwords.js';
import { newId } from '../server/lib/ids.js';

const meta = { ip: null, userAgent: 'fleetplane db seed', requestId: null };

/** Demo data: an organisation with one user per built-in role. Returns the logins it made. */
export async function seedDemo(
  database: Database,
  services: Services,
): Promise<{ org: string; users: { email: string; role: string; password: string }[] }> {
  const password = randomBytes(9).toString('base64url');
  const passwordHash = await hashPassword(password);
  return inTransaction(database.db, async (trx) => {
    const now = new Date().toISOString();
    const users = builtinRoleNames.map((role) => ({
      id: newId(),
      email: `${role}@demo.fleetplane.local`,
      role,
    }));
    for (const user of users) {
      if (await authRepo.findUserByEmail(trx, user.email))
        throw new Error(`${user.email} exists: the demo data is already seeded`);
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
    for (const user of others) {
      const role = await accessRepo.findRoleByName(trx, org.id, user.role);
      if (!role) throw new Error(`role ${user.role} missing`);
      await accessRepo.insertMembership(trx, org.id, user.id, now);
      await accessRepo.setMemberRoles(trx, org.id, user.id, [role.id]);
    }
    return { org: org.name, users: users.map((u) => ({ email: u.email, role: u.role, password })) };
  });
}
