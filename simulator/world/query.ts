/**
 * The part of ECS's cluster query language that `ListContainerInstances(filter)` needs here
 * (aws-behaviour.md §3.1, "Cluster query language"): subjects `ec2InstanceId`, `agentConnected`,
 * `runningTasksCount` and `attribute:<name>`, the operators `== != > >= < <= in not_in`, lists in
 * `[...]` or `(...)`, quoted or bare values, and `and`/`or`/`not` (`&&`, `||`, `!`) with parentheses.
 *
 * Anything else (regex matches, `registeredAt`, `task:group`, syntax errors) is rejected rather
 * than ignored: a filter silently ignored would return every instance of the cluster, which is how
 * a drainer ends up draining the wrong one.
 */
export interface QueryTarget {
  ec2InstanceId: string;
  agentConnected: boolean;
  runningTasksCount: number;
  attributes: ReadonlyMap<string, string>;
}

export type Predicate = (target: QueryTarget) => boolean;

export class QuerySyntaxError extends Error {}

type Token = { kind: 'word' | 'string' | 'op' | 'punct'; text: string };

const OPERATORS = ['==', '!=', '>=', '<=', '=~', '!~', '&&', '||', '>', '<', '!'];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < source.length) {
    const char = source[index]!;
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    if ('()[],'.includes(char)) {
      tokens.push({ kind: 'punct', text: char });
      index += 1;
      continue;
    }
    if (char === "'" || char === '"') {
      const end = source.indexOf(char, index + 1);
      if (end < 0) throw new QuerySyntaxError('unterminated string');
      tokens.push({ kind: 'string', text: source.slice(index + 1, end) });
      index = end + 1;
      continue;
    }
    const operator = OPERATORS.find((candidate) => source.startsWith(candidate, index));
    if (operator) {
      tokens.push({ kind: 'op', text: operator });
      index += operator.length;
      continue;
    }
    const word = /^[A-Za-z0-9_\-.:/*]+/.exec(source.slice(index));
    if (!word) throw new QuerySyntaxError(`unexpected character ${JSON.stringify(char)}`);
    tokens.push({ kind: 'word', text: word[0] });
    index += word[0].length;
  }
  return tokens;
}

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Predicate {
    const predicate = this.or();
    if (this.position < this.tokens.length) throw new QuerySyntaxError(`unexpected ${this.tokens[this.position]!.text}`);
    return predicate;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private take(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new QuerySyntaxError('unexpected end of expression');
    return token;
  }

  private isKeyword(...words: string[]): boolean {
    const token = this.peek();
    return token !== undefined && (token.kind === 'word' || token.kind === 'op') && words.includes(token.text.toLowerCase());
  }

  private or(): Predicate {
    let left = this.and();
    while (this.isKeyword('or', '||')) {
      this.take();
      const a = left;
      const b = this.and();
      left = (target) => a(target) || b(target);
    }
    return left;
  }

  private and(): Predicate {
    let left = this.not();
    while (this.isKeyword('and', '&&')) {
      this.take();
      const a = left;
      const b = this.not();
      left = (target) => a(target) && b(target);
    }
    return left;
  }

  private not(): Predicate {
    if (this.isKeyword('not', '!')) {
      this.take();
      const inner = this.not();
      return (target) => !inner(target);
    }
    const token = this.peek();
    if (token?.kind === 'punct' && token.text === '(') {
      this.take();
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    return this.comparison();
  }

  private expect(text: string): void {
    const token = this.take();
    if (token.text !== text) throw new QuerySyntaxError(`expected ${text}, found ${token.text}`);
  }

  private value(): string {
    const token = this.take();
    if (token.kind !== 'word' && token.kind !== 'string') throw new QuerySyntaxError(`expected a value, found ${token.text}`);
    return token.text;
  }

  private list(): string[] {
    const open = this.take();
    if (open.text !== '[' && open.text !== '(') throw new QuerySyntaxError(`expected a list, found ${open.text}`);
    const close = open.text === '[' ? ']' : ')';
    const values = [this.value()];
    while (this.peek()?.text === ',') {
      this.take();
      values.push(this.value());
    }
    this.expect(close);
    return values;
  }

  private comparison(): Predicate {
    const subject = this.take();
    if (subject.kind !== 'word') throw new QuerySyntaxError(`expected a subject, found ${subject.text}`);
    const operatorToken = this.take();
    const operator = operatorToken.text.toLowerCase();
    const name = subject.text;

    if (name === 'ec2InstanceId') {
      if (operator === 'in' || operator === 'not_in') {
        const values = new Set(this.list());
        return operator === 'in' ? (t) => values.has(t.ec2InstanceId) : (t) => !values.has(t.ec2InstanceId);
      }
      const value = this.value();
      if (operator === '==') return (t) => t.ec2InstanceId === value;
      if (operator === '!=') return (t) => t.ec2InstanceId !== value;
      throw new QuerySyntaxError(`operator ${operatorToken.text} is not supported for ec2InstanceId`);
    }
    if (name === 'agentConnected') {
      const value = this.value().toLowerCase();
      if (value !== 'true' && value !== 'false') throw new QuerySyntaxError('agentConnected takes true or false');
      const expected = value === 'true';
      if (operator === '==') return (t) => t.agentConnected === expected;
      if (operator === '!=') return (t) => t.agentConnected !== expected;
      throw new QuerySyntaxError(`operator ${operatorToken.text} is not supported for agentConnected`);
    }
    if (name === 'runningTasksCount') {
      const raw = this.value();
      if (!/^\d+$/.test(raw)) throw new QuerySyntaxError('runningTasksCount takes a whole number');
      const n = Number(raw);
      const compare: Record<string, (count: number) => boolean> = {
        '==': (c) => c === n,
        '!=': (c) => c !== n,
        '>': (c) => c > n,
        '>=': (c) => c >= n,
        '<': (c) => c < n,
        '<=': (c) => c <= n,
      };
      const fn = compare[operator];
      if (!fn) throw new QuerySyntaxError(`operator ${operatorToken.text} is not supported for runningTasksCount`);
      return (t) => fn(t.runningTasksCount);
    }
    if (name.startsWith('attribute:')) {
      const attribute = name.slice('attribute:'.length);
      if (operator === 'exists') return (t) => t.attributes.has(attribute);
      const value = this.value();
      if (operator === '==') return (t) => t.attributes.get(attribute) === value;
      if (operator === '!=') return (t) => t.attributes.get(attribute) !== value;
      throw new QuerySyntaxError(`operator ${operatorToken.text} is not supported for attributes`);
    }
    throw new QuerySyntaxError(`subject ${name} is not supported`);
  }
}

/** Compiles a filter expression; throws QuerySyntaxError for anything unsupported. */
export function compileQuery(expression: string): Predicate {
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new QuerySyntaxError('empty expression');
  return new Parser(tokens).parse();
}
