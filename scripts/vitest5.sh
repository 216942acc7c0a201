#!/usr/bin/env bash
# Runs the unit tests and one boot (test/vitest5) under vitest 5 on Node 22, the newest versions the
# package supports, next to the repository's own vitest 4 on Node 20. Extra arguments go to vitest.
#   1. vitest 5 and Node 22 (the npm package `node`) into .cache/vitest5, reinstalled only when the
#      versions asked for or the package's own dependencies change; never into node_modules.
#   2. the package itself, packed as it is published, unpacked into .cache/vitest5/node_modules
#      on every run (a link would resolve `vitest` from the repository's node_modules, vitest 4).
#   3. test/vitest5 copied into .cache/vitest5 and run there, so `vitest` resolves to vitest 5: a
#      consumer's type check against vitest 5's types, then the unit tests and test/vitest5/e2e.
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD
cache=$repository/.cache/vitest5

bash scripts/prepare.sh

mkdir -p "$cache"
manifest=$(node -e '
  const own = require("./package.json");
  const manifest = {
    private: true,
    type: "module",
    dependencies: { vitest: "^5.1.1", node: "^22.12.0", ...own.dependencies },
  };
  console.log(JSON.stringify(manifest, null, 2));
')
stamp=$cache/node_modules/.vitest5-installed
wanted=$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)
installed="cached"
if [[ ! -f $stamp || $(cat "$stamp") != "$wanted" ]]; then
  echo "vitest5: installing vitest 5 and Node 22 into .cache/vitest5"
  installed="installed"
  printf '%s\n' "$manifest" > "$cache/package.json"
  rm -rf "$cache/node_modules" "$cache/package-lock.json"
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$stamp"
fi

packed=$(mktemp -d)
npm pack --silent --pack-destination "$packed" > /dev/null
rm -rf "$cache/node_modules/vitest-vmspawn"
mkdir -p "$cache/node_modules/vitest-vmspawn"
tar -xzf "$packed"/vitest-vmspawn-*.tgz -C "$cache/node_modules/vitest-vmspawn" --strip-components=1
rm -rf "$packed"

# The run's own files, fresh each time (a test file deleted from test/vitest5 goes here too).
rm -rf "$cache/e2e" "$cache/typecheck" "$cache/vitest.config.ts"
cp -R test/vitest5/. "$cache/"

cd "$cache"
node=$cache/node_modules/.bin/node
echo "vitest5: vitest $("$node" -p 'require("vitest/package.json").version') on Node $("$node" --version) ($installed), ready after ${SECONDS} s"
"$repository/node_modules/.bin/tsc" -p typecheck/tsconfig.json
exec "$node" node_modules/vitest/vitest.mjs run "$@"
