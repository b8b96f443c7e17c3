// The official TypeScript SDK's side of the benchmarks, used as its README shows.
//   node bench/client.mjs WORKLOAD ARGS...   (MISTRAL_SERVER_URL, MISTRAL_API_KEY)
import { Mistral } from "@mistralai/mistralai";
import { openAsBlob, createWriteStream } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const [workload, ...args] = process.argv.slice(2);
const mistral = new Mistral({ apiKey: process.env.MISTRAL_API_KEY, serverURL: process.env.MISTRAL_SERVER_URL });

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  console.log(`seconds ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(6)}`);
  return out;
}

async function upload(path) {
  const blob = await openAsBlob(path);
  return mistral.files.upload({ file: { fileName: basename(path), content: blob }, purpose: "batch" });
}

if (workload === "upload") {
  const f = await timed(() => upload(args[0]));
  console.log(`id ${f.id}\nbytes ${f.sizeBytes}`);
} else if (workload === "download") {
  await timed(async () => {
    const stream = await mistral.files.download({ fileId: args[0] });
    await pipeline(Readable.fromWeb(stream), createWriteStream(args[1]));
  });
} else if (workload === "retrieve") {
  await mistral.files.retrieve({ fileId: args[0] });
  await timed(async () => {
    for (let i = 0; i < Number(args[1]); i++) await mistral.files.retrieve({ fileId: args[0] });
  });
} else if (workload === "list") {
  await mistral.files.list({ pageSize: 1 });
  let n = 0;
  await timed(async () => {
    const pageSize = Number(args[1]);
    for (let page = 0; ; page++) {
      const res = await mistral.files.list({ search: args[0], page, pageSize, includeTotal: false });
      n += res.data.length;
      if (res.data.length < pageSize) break;
    }
  });
  console.log(`files ${n}`);
} else if (workload === "concurrent") {
  await timed(() => Promise.all(args.map((p) => upload(p))));
} else if (workload === "baseline") {
  await timed(async () => {});
} else {
  throw new Error(`unknown workload ${workload}`);
}
