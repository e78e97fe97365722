import Fastify from 'fastify';

/** The baseline: a bare Fastify hello world, no logger, no hooks; prints its URL once listening. */
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening at ${url}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
