// Preload (`node --import`): appends the path of every file module loaded (ESM through a load
// hook, CommonJS through Module.prototype._compile) to MODULE_LOG_FILE, one per line.
import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';

const file = process.env.MODULE_LOG_FILE;
if (file) {
  register(
    'data:text/javascript,' +
      encodeURIComponent(
        `import { appendFileSync } from 'node:fs';
export async function load(url, ctx, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(file)}, new URL(url).pathname + '\\n');
  return next(url, ctx);
}`,
      ),
  );
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    appendFileSync(file, `${filename}\n`);
    return compile.call(this, content, filename);
  };
}
