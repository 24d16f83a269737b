import type { Msg, NatsConnection, Subscription } from 'nats';
import { BadRequestError } from '../errors.js';
import { publicView } from '../model/schema.js';
import type { ModelStore } from '../model/store.js';
import type { ModelView } from '../model/view.js';
import { decodeParams } from '../protocol/codec.js';
import { TEST_OPERATIONS, testOperationOf, testWildcard, type TestOperation } from '../protocol/subjects.js';
import { replyTo } from '../transport/envelope.js';
import { parseTestParams } from './admin-params.js';
import { faults, type FaultPoint, type FaultSpec } from './faults.js';

/** The last hits a test can check for, oldest first; bounded so a fault armed for long does not grow memory. */
const MAX_HITS = 100;

export interface FaultListing {
  armed: FaultSpec[];
  hits: Array<{ point: FaultPoint; subject: string }>;
}

/**
 * The admin subjects of an agent in test mode, `ovs.node.<sr>.test.fault.arm|clear|list` and
 * `ovs.node.<sr>.test.model.put|delete`. Model writes go straight to the model store: no task logic runs, the
 * schema (types, mandatory fields, relations, uniques) still holds, so repair paths meet a model that disagrees
 * with reality in the ways the schema allows. Every request gets a reply; bad bodies get typed errors.
 */
export class TestAdmin {
  private sub: Subscription | undefined;
  private readonly hits: FaultListing['hits'] = [];
  private readonly onHit = (point: FaultPoint, subject: string): void => {
    this.hits.push({ point, subject });
    if (this.hits.length > MAX_HITS) this.hits.shift();
  };

  constructor(private readonly me: string, private readonly nc: NatsConnection, private readonly store: ModelStore, private readonly view: ModelView) {}

  start(): void {
    faults.enabled = true;
    faults.on('hit', this.onHit);
    this.sub = this.nc.subscribe(testWildcard(this.me), { callback: (_e, m) => void this.onRequest(m) });
  }

  stop(): void {
    this.sub?.unsubscribe();
    faults.off('hit', this.onHit);
    faults.clear();
  }

  private async onRequest(m: Msg): Promise<void> {
    await replyTo(m, this.me, (encoding) => {
      const op = testOperationOf(m.subject);
      if (!isTestOperation(op)) throw new BadRequestError(`unknown test operation '${op ?? m.subject}'; use ${TEST_OPERATIONS.join(', ')}`, { subject: m.subject });
      return this.run(op, decodeParams(m.data, encoding));
    });
  }

  private async run(op: TestOperation, params: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'fault.arm':
        faults.arm(parseTestParams(op, params));
        return this.listing();
      case 'fault.clear':
        faults.clear(parseTestParams(op, params).point);
        return this.listing();
      case 'fault.list':
        parseTestParams(op, params);
        return this.listing();
      case 'model.put':
        return this.put(parseTestParams(op, params));
      case 'model.delete': {
        const p = parseTestParams(op, params);
        await this.store.delete(p.type, p.guid);
        return null;
      }
    }
  }

  /** Creates the object, or (when `guid` names one) sets the given props on it; unnamed props keep their values. */
  private async put(p: { type: string; guid?: string; props: Record<string, unknown> }): Promise<unknown> {
    const exists = p.guid !== undefined && this.view.find(p.type, p.guid) !== undefined;
    const obj = exists
      ? await this.store.update(p.type, p.guid!, (draft) => Object.assign(draft, p.props))
      : await this.store.create(p.type, p.props, p.guid);
    return publicView(this.view.typeDef(p.type), obj);
  }

  private listing(): FaultListing {
    return { armed: faults.list(), hits: [...this.hits] };
  }
}

function isTestOperation(op: string | undefined): op is TestOperation {
  return (TEST_OPERATIONS as readonly string[]).includes(op ?? '');
}
