import '@xterm/xterm/css/xterm.css';
import { Box } from '@mantine/core';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef } from 'react';

/**
 * xterm.js shows output as the program printed it, escape sequences included. Loaded lazily
 * (its own chunk), so pages without output never pay for it. Only what `text` adds is written.
 */
export default function OutputTerminal({ text }: { text: string }) {
  const host = useRef<HTMLDivElement>(null);
  const terminal = useRef<Terminal | null>(null);
  const written = useRef('');

  useEffect(() => {
    if (!host.current) return undefined;
    const term = new Terminal({ convertEol: true, disableStdin: true, rows: 16, scrollback: 5000 });
    term.open(host.current);
    terminal.current = term;
    written.current = '';
    return () => {
      term.dispose();
      terminal.current = null;
    };
  }, []);

  useEffect(() => {
    const term = terminal.current;
    if (!term) return;
    if (text.startsWith(written.current)) term.write(text.slice(written.current.length));
    else {
      // stored output arrived after live chunks: start over in order
      term.reset();
      term.write(text);
    }
    written.current = text;
  }, [text]);

  return <Box ref={host} data-testid="job-output" data-output={text} />;
}
