import type { FastifyInstance } from 'fastify';
import { runDoctor } from '../../doctor/run-doctor.js';
import { errors } from '../../errors.js';
import type { Services } from '../../services.js';

/**
 * The way out to grok.com, for the admin console: the doctor for one account (the same report as
 * `npm run doctor -- --json`) and the status of every egress. Behind the admin guard.
 */
export function registerUpstreamAdminRoutes(app: FastifyInstance, services: Services): void {
  // The one grok.com transport; it lives with the media services, which were its first users.
  const transport = () => services.grokTransport;

  app.post<{ Params: { id: string } }>('/admin/api/tokens/:id/doctor', async (req) => {
    const account = await services.store.getAccount(req.params.id);
    if (!account) throw errors.notFound(`No account with id '${req.params.id}'.`);
    // Diagnostic only: no pool slot is taken and nothing is recorded on the account.
    return runDoctor({ config: services.config(), transport: transport(), token: account.token, accountId: account.id });
  });

  app.get('/admin/api/egress', async () => ({ transport: transport().name, egress: transport().egressStatus() }));
}
