// The entry `agora run` starts from (dist/agora-run.cjs; bin/agora.js picks it
// for `run`): the run command alone, without the command table of main.ts or
// any other command's flags, so the first request to the master goes out after
// compiling and running as little as can be (#7 item 17).
import { dispatch, exitAsSoonAsDone } from './dispatch.js';
import { RUN_COMMAND } from './run-spec.js';

// bin/agora.js runs this file for `agora run …`: the command's own arguments follow.
exitAsSoonAsDone(dispatch(RUN_COMMAND, process.argv.slice(3)));
