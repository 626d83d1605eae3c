import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ApiError, ClientProvider, type Question } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { QuestionPrompt } from './QuestionPrompt';

function question(id: string, over: Partial<Question> = {}): Question {
  return {
    id,
    task_id: 't-0123456789abcdef',
    agent_id: 'bootstrapper',
    text: 'Which name: shop or shop2?',
    choices: [],
    created_at: '2026-12-04T10:00:00Z',
    expires_at: '2026-12-04T10:02:00Z',
    status: 'QUESTION_STATUS_PENDING',
    answer: '',
    answered_by: '',
    ...over,
  };
}

function setup(pending: Question[]) {
  const transport = new MockTransport({
    ListQuestions: () => ({ questions: pending }),
    AnswerQuestion: (req) => {
      const q = pending.find((p) => p.id === req.id)!;
      if (q.choices.length > 0 && !q.choices.includes(req.answer ?? '')) {
        throw new ApiError('invalid_argument', `"${req.answer}" is none of the choices`);
      }
      return { ...q, status: 'QUESTION_STATUS_ANSWERED', answer: req.answer ?? '', answered_by: 'client' };
    },
  });
  const user = userEvent.setup();
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <QuestionPrompt />
      </FeedProvider>
    </ClientProvider>,
  );
  return { transport, user };
}

describe('QuestionPrompt', () => {
  it('shows nothing while no question waits', async () => {
    const { transport } = setup([]);
    await waitFor(() => expect(transport.requests('ListQuestions')).toHaveLength(1));
    expect(screen.queryByTestId('question-prompt')).not.toBeInTheDocument();
  });

  it('answers a question with choices by one of them, then shows the next', async () => {
    const { transport, user } = setup([
      question('q1', { choices: ['shop', 'shop2'] }),
      question('q2', { text: 'Anything else?', created_at: '2026-12-04T10:01:00Z' }),
    ]);
    const prompt = await screen.findByRole('dialog', { name: /^bootstrapper asks you\s*\(1 of 2\)$/ });
    expect(prompt).toHaveAttribute('data-question-id', 'q1');
    expect(screen.getByTestId('question-text')).toHaveTextContent('Which name: shop or shop2?');
    await waitFor(() => expect(screen.getByRole('button', { name: 'shop' })).toHaveFocus());
    await user.click(screen.getByRole('button', { name: 'shop2' }));
    expect(transport.requests('AnswerQuestion')).toEqual([{ id: 'q1', answer: 'shop2' }]);
    // The next one: free text.
    await waitFor(() => expect(screen.getByTestId('question-prompt')).toHaveAttribute('data-question-id', 'q2'));
    const box = screen.getByLabelText('Your answer');
    await waitFor(() => expect(box).toHaveFocus());
    expect(screen.getByRole('button', { name: 'Answer' })).toBeDisabled();
    await user.type(box, 'nothing, thanks{Enter}');
    expect(transport.requests('AnswerQuestion')).toEqual([
      { id: 'q1', answer: 'shop2' },
      { id: 'q2', answer: 'nothing, thanks' },
    ]);
    await waitFor(() => expect(screen.queryByTestId('question-prompt')).not.toBeInTheDocument());
  });

  it('takes a question from the feed, and drops it once settled elsewhere', async () => {
    const { transport } = setup([]);
    await waitFor(() => expect(transport.requests('ListQuestions')).toHaveLength(1));
    const feed = [...transport.subscribers][0]!;
    act(() => feed.onEvent({ seq: '3', question: question('q9', { text: 'Go on?', choices: ['yes', 'no'] }) }));
    expect(await screen.findByTestId('question-text')).toHaveTextContent('Go on?');
    act(() =>
      feed.onEvent({ seq: '4', question: question('q9', { status: 'QUESTION_STATUS_UNANSWERED', answered_by: 'no answer within 2m' }) }),
    );
    expect(screen.queryByTestId('question-prompt')).not.toBeInTheDocument();
  });
});
