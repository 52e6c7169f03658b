import type { PlanTemplateDto, TemplateDto, VsphereVmFacts } from '@ferry/contracts';

/** The traits a host needs to run the source as it is (UEFI, Secure Boot, vTPM). */
export function requiredTraits(facts: VsphereVmFacts): string[] {
  const traits: string[] = [];
  if (facts.firmware === 'efi') traits.push('COMPUTE_SECURITY_UEFI');
  if (facts.secureBoot) traits.push('COMPUTE_SECURITY_UEFI_SECURE_BOOT');
  if (facts.vTpm) traits.push('COMPUTE_SECURITY_TPM_2_0');
  return traits;
}

/** The trait a host needs to run a machine type (host-capability discovers both). */
export function machineTrait(machineType: string): string | null {
  if (machineType === 'q35' || machineType.startsWith('pc-q35-')) return 'COMPUTE_MACHINE_Q35';
  if (machineType === 'pc' || machineType.startsWith('pc-i440fx-')) return 'COMPUTE_MACHINE_PC';
  return null;
}

/** The derived template's name: the VM's, and the migration's id so two migrations never share one. */
export function derivedTemplateName(vmName: string, migrationId: string): string {
  return `${vmName.slice(0, 50)}-m${migrationId.slice(0, 8)}`;
}

/** The template the VM runs as: the one given, or one made from the source's vCPUs, memory and firmware. */
export function planTemplate(
  facts: VsphereVmFacts,
  given: TemplateDto | null,
  name: string,
): PlanTemplateDto {
  if (given)
    return {
      name: given.name,
      derived: false,
      cpu_count: given.cpu_count,
      ram_amount: given.ram_amount,
      machine_type: given.machine_type,
      firmware: 'bios',
      required_traits: given.required_traits,
    };
  return {
    name,
    derived: true,
    cpu_count: Math.max(1, facts.numCpu ?? 1),
    ram_amount: Math.max(128, facts.memoryMB ?? 1024),
    machine_type: 'q35',
    firmware: facts.firmware === 'efi' ? 'uefi' : 'bios',
    required_traits: requiredTraits(facts),
  };
}
