import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError, NotFoundError, isUniqueViolation, type Role } from '@lantern/shop-common';
import type { Address, Profile } from './schemas.js';

interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  name: string;
  role: Role;
  created_at: Date;
  updated_at: Date;
}

interface AddressRow {
  id: string;
  user_id: string;
  label: string | null;
  recipient: string;
  line1: string;
  line2: string | null;
  city: string;
  postal_code: string;
  country: string;
  created_at: Date;
  updated_at: Date;
}

export type UserRecord = Profile & { passwordHash: string };
export type AddressInput = { label?: string | null; recipient: string; line1: string; line2?: string | null; city: string; postalCode: string; country: string };

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  passwordHash: r.password_hash,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export const toProfile = ({ passwordHash: _hidden, ...p }: UserRecord): Profile => p;

const toAddress = (r: AddressRow): Address => ({
  id: r.id,
  label: r.label,
  recipient: r.recipient,
  line1: r.line1,
  line2: r.line2,
  city: r.city,
  postalCode: r.postal_code,
  country: r.country,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

function addressColumns(a: Partial<AddressInput>): Partial<AddressRow> {
  const cols: Partial<AddressRow> = {};
  if (a.label !== undefined) cols.label = a.label;
  if (a.recipient !== undefined) cols.recipient = a.recipient;
  if (a.line1 !== undefined) cols.line1 = a.line1;
  if (a.line2 !== undefined) cols.line2 = a.line2;
  if (a.city !== undefined) cols.city = a.city;
  if (a.postalCode !== undefined) cols.postal_code = a.postalCode;
  if (a.country !== undefined) cols.country = a.country;
  return cols;
}

const emailTaken = () => new ConflictError('an account with this email already exists', 'email_taken');

/** All SQL goes through knex's query builder: values are always bound parameters. */
export function createUsersRepo(knex: Knex) {
  return {
    async create(u: { email: string; passwordHash: string; name: string; role?: Role }): Promise<UserRecord> {
      try {
        const [row] = await knex<UserRow>('users')
          .insert({ id: randomUUID(), email: u.email, password_hash: u.passwordHash, name: u.name, role: u.role ?? 'customer' })
          .returning('*');
        return toUser(row as UserRow);
      } catch (err) {
        if (isUniqueViolation(err, 'users_email_key')) throw emailTaken();
        throw err;
      }
    },
    async findByEmail(email: string): Promise<UserRecord | undefined> {
      const row = await knex<UserRow>('users').where({ email }).first();
      return row ? toUser(row) : undefined;
    },
    async findById(id: string): Promise<UserRecord | undefined> {
      const row = await knex<UserRow>('users').where({ id }).first();
      return row ? toUser(row) : undefined;
    },
    async getById(id: string): Promise<UserRecord> {
      const u = await this.findById(id);
      if (!u) throw new NotFoundError(`user ${id} not found`, 'user_not_found');
      return u;
    },
    async update(id: string, patch: { name?: string; email?: string; passwordHash?: string; role?: Role }): Promise<UserRecord> {
      const cols: Partial<UserRow> = {};
      if (patch.name !== undefined) cols.name = patch.name;
      if (patch.email !== undefined) cols.email = patch.email;
      if (patch.passwordHash !== undefined) cols.password_hash = patch.passwordHash;
      if (patch.role !== undefined) cols.role = patch.role;
      try {
        const [row] = await knex<UserRow>('users')
          .where({ id })
          .update({ ...cols, updated_at: knex.fn.now() as unknown as Date })
          .returning('*');
        if (!row) throw new NotFoundError(`user ${id} not found`, 'user_not_found');
        return toUser(row as UserRow);
      } catch (err) {
        if (isUniqueViolation(err, 'users_email_key')) throw emailTaken();
        throw err;
      }
    },
    async list(q: { limit: number; offset: number; email?: string | undefined }): Promise<{ items: UserRecord[]; total: number }> {
      const base = knex<UserRow>('users');
      // ILIKE with the user's text escaped, so % and _ in a search are literal
      if (q.email) base.whereILike('email', `%${q.email.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const [rows, countRow] = await Promise.all([
        base.clone().orderBy([{ column: 'created_at', order: 'asc' }, { column: 'id', order: 'asc' }]).limit(q.limit).offset(q.offset),
        base.clone().count<{ count: string }[]>({ count: '*' }).first(),
      ]);
      return { items: rows.map(toUser), total: Number(countRow?.count ?? 0) };
    },

    async listAddresses(userId: string): Promise<Address[]> {
      const rows = await knex<AddressRow>('addresses').where({ user_id: userId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toAddress);
    },
    /** Scoped by owner: another user's address is indistinguishable from a missing one (404). */
    async getAddress(userId: string, id: string): Promise<Address> {
      const row = await knex<AddressRow>('addresses').where({ id, user_id: userId }).first();
      if (!row) throw new NotFoundError(`address ${id} not found`, 'address_not_found');
      return toAddress(row);
    },
    async createAddress(userId: string, a: AddressInput): Promise<Address> {
      const [row] = await knex<AddressRow>('addresses')
        .insert({ id: randomUUID(), user_id: userId, ...addressColumns(a) })
        .returning('*');
      return toAddress(row as AddressRow);
    },
    async updateAddress(userId: string, id: string, a: Partial<AddressInput>): Promise<Address> {
      const [row] = await knex<AddressRow>('addresses')
        .where({ id, user_id: userId })
        .update({ ...addressColumns(a), updated_at: knex.fn.now() as unknown as Date })
        .returning('*');
      if (!row) throw new NotFoundError(`address ${id} not found`, 'address_not_found');
      return toAddress(row as AddressRow);
    },
    async deleteAddress(userId: string, id: string): Promise<void> {
      const n = await knex('addresses').where({ id, user_id: userId }).delete();
      if (n === 0) throw new NotFoundError(`address ${id} not found`, 'address_not_found');
    },
  };
}
export type UsersRepo = ReturnType<typeof createUsersRepo>;
