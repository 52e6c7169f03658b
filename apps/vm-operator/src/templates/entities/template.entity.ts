import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'templates', schema: 'vm_operator' })
export class TemplateEntity {
  @PrimaryColumn({ type: 'varchar', length: 63 })
  name!: string;

  @Column({ name: 'cpu_count', type: 'integer' })
  cpuCount!: number;

  /** MiB. */
  @Column({ name: 'ram_amount', type: 'integer' })
  ramAmount!: number;

  @Column({ name: 'machine_type', type: 'varchar', length: 32, default: 'q35' })
  machineType!: string;

  @Column({ name: 'required_traits', type: 'text', array: true, default: () => "'{}'" })
  requiredTraits!: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
