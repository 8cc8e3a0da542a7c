/** One line for a person reading a job's events live: what happened, without the JSON. */
export function describeEvent(kind: string, payload: unknown): string {
  if (typeof payload === 'string') return clip(payload);
  const message = (payload ?? {}) as Record<string, unknown>;
  if (message.type === 'system' && message.subtype === 'init')
    return `session ${String(message.session_id)} started (model ${String(message.model ?? '?')})`;
  if (message.type === 'result') {
    const cost = typeof message.total_cost_usd === 'number' ? `, $${message.total_cost_usd.toFixed(4)}` : '';
    return `${message.is_error ? 'error' : String(message.subtype ?? 'done')}${cost}: ${clip(String(message.result ?? ''))}`;
  }
  const blocks = ((message.message as Record<string, unknown> | undefined)?.content ?? []) as Record<string, unknown>[];
  if (Array.isArray(blocks) && blocks.length > 0) return blocks.map(describeBlock).join(' | ');
  return clip(JSON.stringify(payload) ?? kind);
}

function describeBlock(block: Record<string, unknown>): string {
  switch (block.type) {
    case 'text':
      return clip(String(block.text));
    case 'tool_use':
      return `${String(block.name)} ${clip(JSON.stringify(block.input))}`;
    case 'tool_result': {
      const content = typeof block.content === 'string' ? block.content : JSON.stringify(block.content);
      return `${block.is_error ? 'tool error' : 'tool result'}: ${clip(content)}`;
    }
    default:
      return String(block.type);
  }
}

function clip(text: string, max = 100): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
