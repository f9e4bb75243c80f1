/**
 * The status page in headless Chromium (Debian's `chromium`), driven over the DevTools protocol:
 * the page opens without a key and asks for one; the key is typed into its form like a user would,
 * and the page sends it with every poll; it shows the running
 * pipeline and its connector, and the connector's record counter moves while rows arrive through
 * ingress; a failing pipeline's error is listed. A screenshot is kept under the OS temporary
 * directory and its path printed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { createApiKey, createService } from '../../src/service/server.ts';
import { bootstrapServers, randomTopic } from '../helpers/kafka.ts';
import { SALES_PROGRAM, connectorBody } from './service-helpers.ts';

const CHROMIUM = process.env.CHROMIUM ?? 'chromium';

interface Browser {
  readonly child: ChildProcess;
  readonly port: number;
  readonly profile: string;
}

async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'spillway-chromium-'));
  const child = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1000,900', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${stderr}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', (error) => reject(error));
  });
  return { child, port, profile };
}

/** One page's DevTools session: send a command, wait for its answer, wait for an event. */
class Page {
  readonly #socket: WebSocket;
  #id = 0;
  readonly #pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (error: Error) => void }>();
  readonly #listeners = new Set<(method: string) => void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as { id?: number; method?: string; result?: Record<string, unknown>; error?: { message: string } };
      if (message.id !== undefined) {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error !== undefined) pending?.reject(new Error(message.error.message));
        else pending?.resolve(message.result ?? {});
      } else if (message.method !== undefined) {
        for (const listener of this.#listeners) listener(message.method);
      }
    });
  }

  static async open(port: number): Promise<Page> {
    const target = (await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: 'PUT' })).json()) as { webSocketDebuggerUrl: string };
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve);
      socket.addEventListener('error', reject);
    });
    return new Page(socket);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  once(method: string): Promise<void> {
    return new Promise((resolve) => {
      const listener = (name: string) => {
        if (name === method) {
          this.#listeners.delete(listener);
          resolve();
        }
      };
      this.#listeners.add(listener);
    });
  }

  async evaluate(expression: string): Promise<unknown> {
    const result = await this.send('Runtime.evaluate', { expression, returnByValue: true });
    return (result.result as { value?: unknown }).value;
  }

  close(): void {
    this.#socket.close();
  }
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: last seen ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the status page in headless Chromium', () => {
  it('shows the running connector, its counter moving, and a failing pipeline\'s error', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-status-'));
    const service = createService({ dataDir, log: () => {} });
    const key = createApiKey(service.store, 'browser', 'read').key;
    const writeKey = createApiKey(service.store, 'feeder', 'write').key;
    const url = await service.listen(0, '127.0.0.1');
    const browser = await launchChromium();
    let feeding: NodeJS.Timeout | undefined;
    try {
      const topic = randomTopic('status-page');
      await createTopic([bootstrapServers()], topic, { partitions: 1 });
      const write = { authorization: `Bearer ${writeKey}`, 'content-type': 'application/json' };
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}`, { method, headers: body === undefined ? { authorization: write.authorization } : write, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then(async (response) => {
          assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.text()}`);
        });
      await call('PUT', '/v0/connectors/total-sales', connectorBody(topic, bootstrapServers()));
      await call('PUT', '/v0/connectors/unreachable', connectorBody('nowhere', '127.0.0.1:1', { 'delivery.timeout.ms': 2000, 'request.timeout.ms': 1000 }));
      await call('PUT', '/v0/pipelines/book-fair', { program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }] });
      await call('PUT', '/v0/pipelines/broken', { program: SALES_PROGRAM, attached_connectors: [{ name: 'lost', connector_name: 'unreachable', relation_name: 'total_sales', is_input: false }] });
      await call('POST', '/v0/pipelines/book-fair/start');
      await call('POST', '/v0/pipelines/broken/start');
      await fetch(`${url}/v0/pipelines/broken/ingress/sales?format=json&update_format=raw`, { method: 'POST', headers: write, body: '{"id":1,"book":"x","amount":1}' });
      let id = 0;
      feeding = setInterval(() => {
        id += 1;
        void fetch(`${url}/v0/pipelines/book-fair/ingress/sales?format=json&update_format=raw`, { method: 'POST', headers: write, body: JSON.stringify({ id, book: `book-${id % 7}`, amount: id }) });
      }, 50);

      const page = await Page.open(browser.port);
      try {
        await page.send('Page.enable');
        const loaded = page.once('Page.loadEventFired');
        await page.send('Page.navigate', { url: `${url}/` });
        await loaded;
        // A plain browser: no header was set, so the page asks for the key and shows no data.
        await until(() => page.evaluate(`document.getElementById('login').hidden`) as Promise<boolean>, (hidden) => hidden === false, 'the API key form');
        assert.equal(await page.evaluate(`document.querySelectorAll('#pipelines tbody tr').length`), 0);
        const typeKey = async (text: string) => {
          await page.evaluate(`document.getElementById('key').focus()`);
          await page.send('Input.insertText', { text });
          await page.send('Input.dispatchKeyEvent', { type: 'keyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' });
          await page.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 });
        };
        await typeKey('apikey:not-a-key');
        const refused = await until(() => page.evaluate(`document.getElementById('login-error').textContent`) as Promise<string>, (text) => text !== '', 'a wrong key refused');
        assert.equal(refused, 'that key was refused');
        await typeKey(key);
        assert.equal(await page.evaluate(`sessionStorage.getItem('spillway.apiKey')`), key);
        const counter = () => page.evaluate(`Number(document.querySelector('tr[data-connector="book-fair/out"] td.records')?.textContent ?? -1)`) as Promise<number>;
        const first = await until(counter, (value) => value > 0, 'the connector row with a record count');
        const second = await until(counter, (value) => value > first, 'the record counter moving', 10_000);
        assert.ok(second > first);
        const state = await page.evaluate(`document.querySelector('tr[data-connector="book-fair/out"] td:nth-child(2)').textContent`);
        assert.equal(state, 'Running');
        const errors = await until(() => page.evaluate(`document.getElementById('errors').textContent`) as Promise<string>, (text) => text.includes('broken/lost'), 'the failing pipeline\'s error', 20_000);
        assert.match(errors, /broken\/lost: /);
        const rate = await page.evaluate(`Number(document.querySelector('tr[data-connector="book-fair/out"] td:last-child').textContent)`);
        assert.ok(typeof rate === 'number' && rate > 0, `records/s shown: ${String(rate)}`);
        // A few seconds of the chart before the screenshot.
        await until(() => page.evaluate('samples.length') as Promise<number>, (count) => count >= 5, 'five records/s samples');
        const shot = await page.send('Page.captureScreenshot', { format: 'png' });
        const path = join(tmpdir(), `spillway-status-page-${Date.now()}.png`);
        writeFileSync(path, Buffer.from(shot.data as string, 'base64'));
        process.stdout.write(`status page screenshot: ${path}\n`);
      } finally {
        page.close();
      }
    } finally {
      clearInterval(feeding);
      browser.child.kill('SIGTERM');
      await new Promise((resolve) => (browser.child.exitCode === null ? browser.child.once('exit', resolve) : resolve(undefined)));
      rmSync(browser.profile, { recursive: true, force: true });
      await service.close();
    }
  });
});
