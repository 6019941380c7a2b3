// Writes a V8 CPU profile of this process to $SEQNET_CPU_PROFILE_DIR when it exits. For processes
// another one spawns (a devnet's nodes), where `--cpu-prof` cannot go: Node refuses it in
// NODE_OPTIONS, but takes `--require` there. Read the files with `npx tsx bench/profile.ts FILE`.
//   SEQNET_CPU_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--require $PWD/bench/cpu-profile-preload.cjs" \
//     npx tsx bench/modes.ts --modes pos --quick
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.SEQNET_CPU_PROFILE_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    // The in-process session answers synchronously, so the profile is written before the exit.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      const what = process.argv
        .slice(2, 4)
        .join('_')
        .replace(/[^\w.-]/g, '');
      writeFileSync(join(dir, `CPU.${process.pid}.${what}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
