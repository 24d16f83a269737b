import { type ErrorDetails, RegisteredError, registerError } from './registry.js';

/** Errors of statistics (stats_monkey) and support configuration (configure_support). */

export class StatsConfigError extends RegisteredError {
  static {
    registerError(this, {
      type: 'STATS_CONFIG',
      retryable: false,
      meaning: 'the stats monkey configuration (`/ovs/framework/monitoring/stats_monkey`) is missing or invalid (`details.issues`: wrong transport, port, host, ...)',
    });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}

export class StatsSendError extends RegisteredError<{ failed: string[]; errors: Record<string, string> }> {
  static {
    registerError(this, {
      type: 'STATS_SEND_FAILED',
      retryable: true,
      meaning: 'statistics methods failed to collect or to send to the monitoring server (`details.failed`: method names, sorted); the others were sent',
    });
  }

  constructor(failed: string[], errors: Record<string, string>) {
    super(`statistics methods failed: ${failed.join(', ')}`, { failed, errors });
  }
}

export class SupportUnavailableError extends RegisteredError {
  static {
    registerError(this, { type: 'SUPPORT_NOT_AVAILABLE', retryable: false, meaning: 'a support feature of the original that this port does not provide (remote access over a VPN)' });
  }

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}
