/** lib/cli/help: every command has help, and each help lists exactly that command's options. */
import { strict as assert } from 'node:assert';
import { COMMANDS, OPTIONS, parseArgs } from '../../lib/cli/args';
import { COMMAND_DOCS, commandHelp, helpText, overview } from '../../lib/cli/help';

describe('help', () => {
  it('the overview lists every command with its summary, and how to get more', () => {
    const text = overview();
    for (const c of COMMANDS) assert.match(text, new RegExp(`^  ${c} +${COMMAND_DOCS[c].summary.replace(/[()]/g, '\\$&')}$`, 'm'), c);
    assert.match(text, /mmaplab help COMMAND/);
    assert.equal(helpText(null), text);
    assert.equal(helpText('help'), text);
  });

  for (const c of COMMANDS.filter((x) => x !== 'help')) {
    it(`${c} --help shows its usage and every option it takes, and no other`, () => {
      // What `mmaplab C --help` and `mmaplab help C` print: both ask for this command's help.
      for (const argv of [
        [c, '--help'],
        [c, '-h'],
        ['help', c],
      ]) {
        const o = parseArgs(argv);
        assert.deepEqual([o.command, o.topic], ['help', c], argv.join(' '));
      }
      const text = helpText(c);
      assert.notEqual(text, overview(), `${c}: not the overview`);
      assert.ok(text.startsWith(`usage: ${COMMAND_DOCS[c].synopsis}\n`));
      for (const o of OPTIONS) {
        const shown = new RegExp(`^  ${o.name}(, ${o.alias ?? ''})?[ \\n]`, 'm').test(text) || text.includes(`\n  ${o.name}\n`);
        assert.equal(shown, o.commands.includes(c), `${c}: ${o.name}`);
      }
    });
  }

  it('an option shows its value placeholder', () => {
    const text = commandHelp('matrix');
    for (const l of [
      '--kernel KERNEL',
      '--alloc A',
      '--method M',
      '--scenario S',
      '--size SIZE',
      '--hazards yes|no|only',
      '--profile default|poison',
      '--repeat N',
      '--isolate',
      '--shard i/n',
      '--out DIR',
      '--no-fail',
      '--json FILE',
      '--verbose, -v',
    ]) {
      assert.ok(text.includes(`\n  ${l} `) || text.includes(`\n  ${l}\n`), l);
    }
  });

  it('the commands that judge cells document their exit status', () => {
    for (const c of ['matrix', 'run', 'merge'] as const) {
      assert.match(commandHelp(c), /exit status: 0 when every cell meets its prediction or matches its observation record/);
      assert.match(commandHelp(c), /unless --no-fail; 2 for a usage error/);
    }
    assert.match(commandHelp('classify'), /exit status: 0 whatever was found, 1 with --fail-on-findings/);
  });

  it('the shard rule is in the help', () => {
    assert.match(commandHelp('matrix'), /the k-th selected cell \(from 0\) goes\s+to shard \(k mod n\) \+ 1/);
  });

  it('help lines fit 90 columns', () => {
    for (const c of COMMANDS) for (const l of helpText(c).split('\n')) assert.ok(l.length <= 90, `${c}: ${l}`);
  });
});
