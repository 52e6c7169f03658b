import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

import type { RecentSweep, SweepPhases } from '@ferry/contracts';

export interface SweepState {
  finished_at: Date;
  duration_ms: number;
  cpu_ms: number;
  checked: { vms: number; disks: number };
  skipped: number;
  errors: string[];
  phases_ms: SweepPhases;
  /** The last RECENT_SWEEPS sweeps, oldest first (read only: save() appends this one). */
  recent?: RecentSweep[];
}

/** How many sweeps `recent` keeps. */
export const RECENT_SWEEPS = 60;

/** The last sweep, one row whichever replica ran it. */
@Injectable()
export class SweepStateRepository {
  constructor(private readonly ds: DataSource) {}

  async get(): Promise<SweepState | undefined> {
    const rows = (await this.ds.query('SELECT * FROM observer.sweep_state WHERE id = 1')) as SweepState[];
    return rows[0];
  }

  async save(s: SweepState): Promise<void> {
    await this.ds.query(
      `INSERT INTO observer.sweep_state AS s
         (id, finished_at, duration_ms, cpu_ms, checked, skipped, errors, phases_ms, recent)
       VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET finished_at = $1, duration_ms = $2, cpu_ms = $3, checked = $4,
         skipped = $5, errors = $6, phases_ms = $7,
         recent = (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb)
                     FROM jsonb_array_elements(s.recent || $8::jsonb) WITH ORDINALITY AS t(e, n)
                    WHERE n > jsonb_array_length(s.recent) + 1 - $9)`,
      [
        s.finished_at,
        s.duration_ms,
        s.cpu_ms,
        JSON.stringify(s.checked),
        s.skipped,
        JSON.stringify(s.errors),
        JSON.stringify(s.phases_ms),
        JSON.stringify([{ finished_at: s.finished_at.toISOString(), duration_ms: s.duration_ms }]),
        RECENT_SWEEPS,
      ],
    );
  }
}
