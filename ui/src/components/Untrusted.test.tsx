import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Untrusted } from './Untrusted';

describe('Untrusted', () => {
  it('renders plain text as the bare string', () => {
    const { container } = render(
      <p>
        <Untrusted text="pypi.org:443" />
      </p>,
    );
    expect(container.innerHTML).toBe('<p>pypi.org:443</p>');
  });

  it('renders nothing for no text', () => {
    const { container } = render(
      <p>
        <Untrusted text="" />
        <Untrusted text={undefined} />
      </p>,
    );
    expect(container.innerHTML).toBe('<p></p>');
  });

  it('shows each hidden character as its code, with a title saying why', () => {
    render(
      <p data-testid="p">
        <Untrusted text={'report\u202Etxt.exe\x1b'} />
      </p>,
    );
    const p = screen.getByTestId('p');
    expect(p).toHaveTextContent('reportU+202Etxt.exe\\x1b');
    expect(p.textContent).not.toMatch(/[\u202E\x1b]/);
    const [bidi, esc] = screen.getAllByTestId('untrusted-mark');
    expect(bidi).toHaveTextContent('U+202E');
    expect(bidi).toHaveClass('untrusted-mark');
    expect(bidi).toHaveAttribute('title', expect.stringContaining('Hidden control character from the agent'));
    expect(esc).toHaveTextContent('\\x1b');
  });

  it('keeps newlines and tabs in multi-line text', () => {
    render(
      <pre data-testid="pre">
        <Untrusted text={'a\tb\nc\u2066'} multiline />
      </pre>,
    );
    expect(screen.getByTestId('pre').textContent).toBe('a\tb\ncU+2066');
  });
});
