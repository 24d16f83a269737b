import type { NatsConnection } from 'nats';
import { encode } from '../protocol/codec.js';
import { updateSubject, type UpdateOperation } from '../protocol/subjects.js';
import { requestNode } from '../transport/request-owner.js';
import type { NodeUpdateStatus } from './node-service.js';

/** A request to one agent's update subjects; its typed errors come back as their own classes. */
export function askNode(nc: NatsConnection, sr: string, op: UpdateOperation, params: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
  return requestNode(nc, sr, updateSubject(sr, op), encode(params), { timeout: timeoutMs, deadline: Date.now() + timeoutMs });
}

export function nodeUpdateStatus(nc: NatsConnection, sr: string, timeoutMs = 3_000): Promise<NodeUpdateStatus> {
  return askNode(nc, sr, 'status', {}, timeoutMs) as Promise<NodeUpdateStatus>;
}
