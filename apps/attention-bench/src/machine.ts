import os from 'node:os';

/** The machine a report was made on, so that timings can be compared only where they should be. */
export interface MachineInfo {
  /** CPU model, e.g. `AMD EPYC 7B13`. */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Total memory, GiB. */
  memoryGiB: number;
  /** `linux x64`, ... */
  platform: string;
  /** Node.js version. */
  node: string;
}

/** Describes this machine. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() || 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
  };
}
