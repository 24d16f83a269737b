import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds, type KeyPair } from '@nats-io/jwt';

/** A nats-server in operator (decentralised JWT) mode: its config text, and creds files' contents for users. */
export interface OperatorMode {
  /** `operator:`, `system_account:`, `resolver: MEMORY` and `resolver_preload` with the system and the `OVS` account. */
  config: string;
  /** A user of the `OVS` account (JetStream enabled), as a `.creds` file's bytes. */
  userCreds: Uint8Array;
  /** A user signed by an account the server does not know: well-formed, refused. */
  strangerCreds: Uint8Array;
}

// Unlimited everything: an account JWT without limits would leave JetStream disabled for it.
const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const JETSTREAM = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
const USER_LIMITS = { subs: -1, data: -1, payload: -1 };

export async function operatorMode(): Promise<OperatorMode> {
  const operator = createOperator();
  const system = createAccount();
  const ovs = createAccount();
  const operatorJwt = await encodeOperator('ovs-test', operator, { system_account: system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', system, { limits: UNLIMITED }, { signer: operator });
  const ovsJwt = await encodeAccount('OVS', ovs, { limits: { ...UNLIMITED, ...JETSTREAM } }, { signer: operator });
  const config = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    `resolver_preload: {\n  ${system.getPublicKey()}: ${systemJwt}\n  ${ovs.getPublicKey()}: ${ovsJwt}\n}`,
  ].join('\n');
  return { config, userCreds: await userCreds('agent', ovs), strangerCreds: await userCreds('stranger', createAccount()) };
}

async function userCreds(name: string, account: KeyPair): Promise<Uint8Array> {
  const user = createUser();
  return fmtCreds(await encodeUser(name, user, account, USER_LIMITS), user);
}
