import { Type } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';

export const HousekeepingRunSchema = Type.Object({
  id: Id,
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  requested_by: Type.Union([Id, Type.Null()], {
    description: 'The member who asked for a manual run (shown to the primary organisation only)',
  }),
  node: Type.String({ description: 'The server node that ran it' }),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  counts: Type.Union([Type.Record(Type.String(), Type.Integer()), Type.Null()], {
    description:
      'Rows deleted, by kind (sessions, refresh_tokens, audit_events, job_output, …), over every ' +
      'organisation: null outside the primary organisation',
  }),
  error: Type.Union([Type.String(), Type.Null()]),
  started_at: Timestamp,
  finished_at: NullableTimestamp,
});

export const HousekeepingOverview = Type.Object({
  items: Type.Array(HousekeepingRunSchema, { description: 'The last runs, newest first' }),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
  interval_seconds: Type.Integer({
    description: 'How often housekeeping runs (FLEETPLANE_HOUSEKEEPING_INTERVAL_MS)',
  }),
  next_due_at: Timestamp,
  running: Type.Boolean({ description: 'A run is under way on some server node' }),
  instance: Type.Boolean({
    description:
      "The caller's organisation is the primary one: its members see counts and may run housekeeping",
  }),
});
