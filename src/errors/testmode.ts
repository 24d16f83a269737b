import type { FaultPoint } from '../testmode/faults.js';
import { RegisteredError, registerError } from './registry.js';

/** Errors of an agent's test mode (`ovs agent --test-mode`, src/testmode/). */

export class InjectedFaultError extends RegisteredError<{ point: FaultPoint; subject: string }> {
  static {
    registerError(this, { type: 'INJECTED_FAULT', retryable: true, meaning: 'a fault armed on a test-mode agent (`ovs.node.<sr>.test.fault.arm`) made this step fail' });
  }

  constructor(point: FaultPoint, subject: string) {
    super(`injected fault at ${point} (${subject})`, { point, subject });
  }

  // Read from the details, so an error rebuilt from the wire answers them too.
  get point(): FaultPoint {
    return this.details.point;
  }

  get subject(): string {
    return this.details.subject;
  }
}

export class TestModeOffError extends RegisteredError<Record<string, never>> {
  static {
    registerError(this, { type: 'TEST_MODE_OFF', retryable: false, meaning: 'fault injection and direct model writes need an agent started with `--test-mode`' });
  }

  constructor() {
    super('fault injection and direct model writes need an agent started with --test-mode', {});
  }
}
