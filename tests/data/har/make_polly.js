// Records the Node `openai` SDK (v4, which sends through node's http module) talking to
// the images-conformance reference server, with Polly.js (node-http adapter, fs
// persister), and copies Polly's HAR to ./polly-node-openai.har.
//
//   npm install            # in a scratch copy of this folder (node_modules is not committed)
//   node make_polly.js     # needs `images-conformance` on PATH (or IMAGES_CONFORMANCE=...)
//
// What it records (see README.md): a dall-e-2 request answered with a `url` and the GET
// of that image; a gpt-image-1 request whose answer arrives gzip-compressed (through a
// small gzip front in this script: the reference server itself never compresses); a
// streamed gpt-image-1 request (the SDK's own SSE stream); a refused request (400); and
// GET /v1/models, which a reader of the HAR must skip.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const { Polly } = require('@pollyjs/core');
const NodeHttpAdapter = require('@pollyjs/adapter-node-http');
const FSPersister = require('@pollyjs/persister-fs');
const OpenAI = require('openai');

const API_KEY = 'sk-polly-recording-dummy-key-0001';
const OUT = path.join(__dirname, 'polly-node-openai.har');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForServer(base) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const req = http.get(`${base}/models`, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the reference server did not start at ${base}`);
}

// A gzip front for the reference server: answers JSON gzip-compressed when the client
// accepts gzip, as many real servers and gateways do. It runs in a child process
// (`node make_polly.js gzip-front UPSTREAM_PORT`), out of reach of Polly's interception,
// so that only the SDK's own requests are recorded.
function runGzipFront(upstreamPort) {
  const front = http.createServer((req, res) => {
    const up = http.request(
      { host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        const headers = { ...upRes.headers };
        const json = String(headers['content-type'] || '').startsWith('application/json');
        if (json && /\bgzip\b/.test(String(req.headers['accept-encoding'] || ''))) {
          delete headers['content-length'];
          headers['content-encoding'] = 'gzip';
          res.writeHead(upRes.statusCode, headers);
          upRes.pipe(zlib.createGzip()).pipe(res);
        } else {
          res.writeHead(upRes.statusCode, headers);
          upRes.pipe(res);
        }
      }
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  front.listen(0, '127.0.0.1', () => console.log(`gzip-front ${front.address().port}`));
}

function startGzipFront(upstreamPort) {
  const child = spawn(process.execPath, [__filename, 'gzip-front', String(upstreamPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (data) => {
      const m = /gzip-front (\d+)/.exec(String(data));
      if (m) resolve({ child, port: Number(m[1]) });
    });
  });
}

async function main() {
  const port = await freePort();
  const command = process.env.IMAGES_CONFORMANCE || 'images-conformance';
  const server = spawn(
    command,
    ['serve', '--port', String(port), '--api-key', API_KEY, '--log-level', 'warning'],
    { stdio: 'inherit' }
  );
  const base = `http://127.0.0.1:${port}/v1`;
  let front = null;
  const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'polly-'));
  try {
    await waitForServer(base);
    front = await startGzipFront(port);
    const gzipBase = `http://127.0.0.1:${front.port}/v1`;

    Polly.register(NodeHttpAdapter);
    Polly.register(FSPersister);
    const polly = new Polly('openai-node-images', {
      adapters: ['node-http'],
      persister: 'fs',
      persisterOptions: { fs: { recordingsDir: recordings } },
      mode: 'record',
      recordFailedRequests: true,
    });
    // Polly's documented way to keep secrets out of a recording.
    polly.server.any().on('beforePersist', (_req, recording) => {
      for (const h of recording.request.headers) {
        if (h.name.toLowerCase() === 'authorization') h.value = 'Bearer REDACTED';
      }
    });

    const client = new OpenAI({ apiKey: API_KEY, baseURL: base, maxRetries: 0 });
    const gzipClient = new OpenAI({ apiKey: API_KEY, baseURL: gzipBase, maxRetries: 0 });

    await client.models.list().catch((e) => console.log('models:', e.status));

    const url = await client.images.generate({ model: 'dall-e-2', prompt: 'A cute baby sea otter', size: '256x256' });
    console.log('dall-e-2 url:', url.data[0].url);
    await new Promise((resolve, reject) => {
      http.get(url.data[0].url, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });

    const b64 = await gzipClient.images.generate({
      model: 'gpt-image-1',
      prompt: 'A cute baby sea otter',
      size: '1024x1024',
      quality: 'low',
      output_format: 'jpeg',
    });
    console.log('gpt-image-1 (gzip):', b64.data[0].b64_json.length, 'base64 chars');

    // openai v4 has no typed image stream; its generic post() gives the SDK's SSE Stream.
    const stream = await client.post('/images/generations', {
      body: {
        model: 'gpt-image-1',
        prompt: 'A cute baby sea otter',
        size: '1024x1024',
        quality: 'low',
        stream: true,
        partial_images: 1,
      },
      stream: true,
    });
    const events = [];
    for await (const event of stream) events.push(event.event || event.type);
    console.log('stream events:', events.join(', '));

    try {
      await client.images.generate({ model: 'dall-e-3', prompt: 'A cute baby sea otter', n: 2 });
    } catch (e) {
      console.log('refused:', e.status, e.error && e.error.param);
    }

    await polly.stop();
    const found = [];
    const walk = (dir) => {
      for (const name of fs.readdirSync(dir)) {
        const p = path.join(dir, name);
        if (fs.statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.har')) found.push(p);
      }
    };
    walk(recordings);
    if (found.length !== 1) throw new Error(`expected one HAR, found ${found}`);
    fs.copyFileSync(found[0], OUT);
    console.log('wrote', OUT);
  } finally {
    if (front) front.child.kill();
    server.kill();
    fs.rmSync(recordings, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'gzip-front') {
  runGzipFront(Number(process.argv[3]));
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
