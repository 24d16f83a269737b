/**
 * The three NATS roles (agents, operators, readers), as config/nats-roles.example.conf ships them; a unit test keeps
 * the two the same. `ovs up --secure` writes this next to its passwords.
 */
export const NATS_ROLES_CONF = `# Three roles for an ovs cluster's NATS (merge into /etc/nats/ovs.conf, next to nats-cluster.example.conf).
# Passwords come from the environment of nats-server here ($OVS_..._PASSWORD); put bcrypt hashes
# (\`nats server passwd\`) in production. Clients: \`ovs agent --user agent --password ...\` or natsAuth in agent.json;
# \`ovs ... --user reader --password ...\` or a \`--context\` file.

AGENT = {
  # Agents serve and call everything of the cluster: tasks, model, config, node subjects, MDS, events, services,
  # JetStream (KV buckets, streams, object stores) and the replies to their own requests.
  publish: ["ovs.>", "mds.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>", "$O.>", "$SRV.>", "_INBOX.>"]
  subscribe: ["ovs.>", "mds.>", "$JS.>", "$KV.>", "$O.>", "$SRV.>", "_INBOX.>"]
}

READER = {
  # Model reads, service discovery and events; no task (ovs.task.>), no config write, no JetStream.
  publish: ["ovs.model.*.list", "ovs.model.*.get", "$SRV.>"]
  subscribe: ["ovs.evt.>", "_INBOX.>"]
}

authorization {
  users: [
    { user: agent, password: $OVS_AGENT_PASSWORD, permissions: $AGENT }
    # Operators: everything (no permissions block).
    { user: operator, password: $OVS_OPERATOR_PASSWORD }
    { user: reader, password: $OVS_READER_PASSWORD, permissions: $READER }
  ]
}
`;

export type NatsRole = 'agent' | 'operator' | 'reader';

/** The variables the roles config reads its passwords from. */
export const ROLE_PASSWORD_VARIABLE: Record<NatsRole, string> = {
  agent: 'OVS_AGENT_PASSWORD',
  operator: 'OVS_OPERATOR_PASSWORD',
  reader: 'OVS_READER_PASSWORD',
};
