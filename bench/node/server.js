// node-oidc-provider with a minimal configuration: the reference side of the token-endpoint
// benchmark (bench/token_endpoint.py). Same shape as our IdP for the measured path:
// authorization code + PKCE S256, client_secret_basic, ES256 ID tokens, opaque access tokens.
// The interaction logs in a fixed account at once, so the harness can mint codes quickly.
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

// An unbounded in-memory store: the library's development adapter is an LRU of 1,000 entries,
// which would evict the codes minted before a run.
const store = new Map();
class MemoryStore {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (payload.grantId) store.set(`grant:${payload.grantId}:${this.key(id)}`, id);
    if (payload.uid) store.set(`uid:${payload.uid}`, id);
  }
  async find(id) { return store.get(this.key(id)); }
  async findByUid(uid) { const id = store.get(`uid:${uid}`); return id && this.find(id); }
  async findByUserCode() { return undefined; }
  async consume(id) { const payload = store.get(this.key(id)); if (payload) payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of store.keys()) {
      if (key.startsWith(`grant:${grantId}:`)) { store.delete(key.slice(`grant:${grantId}:`.length)); store.delete(key); }
    }
  }
}

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  adapter: MemoryStore,
  ttl: { AuthorizationCode: 600, Session: 3600, Grant: 3600, Interaction: 600, AccessToken: 600, IdToken: 600 },
});
provider.proxy = false;

const callback = provider.callback();
createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)/);
  if (!match) return callback(req, res);
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: 'bench-account', clientId: details.params.client_id });
  grant.addOIDCScope('openid');
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: 'bench-account' }, consent: { grantId },
  }, { mergeWithLastSubmission: false });
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port}`));
