import type { Interpreter } from '../../../protocol/jobs.js';
import { notFound } from '../../lib/errors.js';
import type { Service } from '../services/services.repo.js';
import type { ServicesService } from '../services/services.service.js';
import type { ServiceCatalog, ServiceRecipe } from './deployments.service.js';
import { rolloutOf } from './rollout.js';

/** The services module, as deployments read it: a service's recipe, its secret values still sealed. */
export function serviceCatalog(services: ServicesService): ServiceCatalog {
  return {
    recipe: async (orgId, id) => recipeOf(await services.resolveForDeployment(orgId, id)),
    async recipeByName(orgId, name) {
      const service = await services.getByName(orgId, name);
      if (!service) throw notFound('service');
      return recipeOf(service);
    },
  };
}

function recipeOf(service: Service): ServiceRecipe {
  return {
    id: service.id,
    name: service.name,
    // the services module accepts interpreters jobs run, and nothing else
    interpreter: service.interpreter as Interpreter,
    script: service.script,
    steps: service.steps,
    runs_on: service.runs_on,
    rollout: rolloutOf(service.rollout),
    timeout_seconds: service.timeout_seconds,
    config_schema: service.config_schema,
    env: service.env,
    secret_env: service.secret_env,
  };
}
