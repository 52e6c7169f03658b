import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A POST seen with an Idempotency-Key. `status` is null while the first request is still running. */
@Entity({ name: 'idempotency_keys', schema: 'gateway' })
export class IdempotencyRecordEntity {
  /** API key id of the caller: keys are scoped per caller. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  principal!: string;

  @PrimaryColumn({ type: 'varchar', length: 255 })
  key!: string;

  /** SHA-256 of method, path and body; a different request under the same key is refused. */
  @Column({ type: 'char', length: 64 })
  fingerprint!: string;

  @Column({ type: 'integer', nullable: true })
  status!: number | null;

  @Column({ type: 'text', nullable: true })
  location!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  body!: unknown;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
