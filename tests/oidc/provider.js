// A real OpenID Connect provider for the test suite (oidc-provider from the npm registry), started by
// tests/oidc_provider.py as `node provider.js <config.json>`. The config names the port, the audience (resource
// indicator) whose access tokens are JWTs, the signing keys (private JWKs: the first one signs), the
// dashboard's redirect URIs, and the users with their groups. Tests mint tokens two ways: client_credentials
// for a service account (a client whose `groups` say what it is), and the authorization code flow with PKCE
// through the development login pages (any password), as the dashboard does.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  jwks: { keys: config.keys },
  clients: [
    {
      client_id: 'valmius-dashboard',
      token_endpoint_auth_method: 'none',
      redirect_uris: config.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    ...config.service_accounts.map((account) => ({
      client_id: account.client_id,
      client_secret: 'secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      groups: account.groups,
    })),
  ],
  extraClientMetadata: { properties: ['groups'] },
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, preferred_username: id, groups: config.users[id] ?? [] }),
  }),
  claims: { openid: ['sub'], profile: ['preferred_username', 'groups'] },
  async extraTokenClaims(ctx, token) {
    if (token.accountId) return { preferred_username: token.accountId, groups: config.users[token.accountId] ?? [] };
    const client = await provider.Client.find(token.clientId);
    return { preferred_username: token.clientId, groups: client.groups ?? [] };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'valmius',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  clientBasedCORS: () => true,
  cookies: { keys: ['valmius-tests-only'] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, Grant: 600, Interaction: 600, Session: 600 },
  pkce: { required: () => true, methods: ['S256'] },
  loadExistingGrant: async (ctx) => {  // consent once: grant what is asked, for the tests' users
    const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(config.audience, 'valmius');
    await grant.save();
    return grant;
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
