// Bundles the page script, serves it on 127.0.0.1 and drives headless chromium on it with playwright-core.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The chromium to drive: `ATTNKIT_CHROMIUM`, else Debian's package (CI installs it with apt). */
export const CHROMIUM = process.env.ATTNKIT_CHROMIUM ?? '/usr/bin/chromium';

/** Whether that chromium exists. */
export const hasChromium = existsSync(CHROMIUM);

/** The part of esbuild's API used here. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { text: string }[] }>;
}

/**
 * esbuild, found through tsup (a devDependency that depends on it): pnpm does not let this package import
 * esbuild by name, and one esbuild in the tree is enough.
 */
async function loadEsbuild(): Promise<Esbuild> {
  const fromTsup = createRequire(createRequire(import.meta.url).resolve('tsup'));
  const mod = (await import(pathToFileURL(fromTsup.resolve('esbuild')).href)) as Esbuild & {
    default?: Esbuild;
  };
  return mod.default ?? mod;
}

/** Bundles `page.ts` (with @attnkit/core and this package's source) into one browser ES module. */
export async function bundlePage(): Promise<string> {
  const esbuild = await loadEsbuild();
  const out = await esbuild.build({
    entryPoints: [path.join(here, 'page.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

const HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>attnkit</title></head><body>' +
  '<script type="module" src="/page.js"></script></body></html>';

/** Serves the page and its script on 127.0.0.1 (an ephemeral port); returns the server and its URL. */
export async function serve(script: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const body = req.url === '/page.js' ? script : req.url === '/' ? HTML : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = req.url === '/page.js' ? 'text/javascript' : 'text/html';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

/**
 * Launches headless chromium with WebGPU on SwiftShader (a CPU driver: no GPU needed). playwright-core gives it
 * a fresh temporary profile; no browser is downloaded.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
