/**
 * Configuration errors with their place in the file. A syntax error stops the parser at
 * once; the model checks collect every problem of a file and report them together.
 */
import { GkmError } from '../../ikev2/errors.ts';

export interface SourcePos {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
}

export interface ConfigIssue {
  readonly file: string;
  readonly pos: SourcePos;
  readonly message: string;
}

export const issueText = (i: ConfigIssue): string => `${i.file}:${i.pos.line}:${i.pos.column}: ${i.message}`;

/** One or more problems of a configuration file; `message` lists them, one per line. */
export class ConfigError extends GkmError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super('GKM_IKE_CONFIG');
    this.name = 'ConfigError';
    this.message = issues.map(issueText).join('\n');
    this.issues = issues;
  }
}

/** Collects issues of one file; `throwIfAny` ends a checking pass. */
export class IssueList {
  readonly #issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  constructor(readonly file: string) {}

  error(pos: SourcePos, message: string): void {
    this.#issues.push({ file: this.file, pos, message });
  }

  warn(pos: SourcePos, message: string): void {
    this.warnings.push({ file: this.file, pos, message });
  }

  get count(): number {
    return this.#issues.length;
  }

  throwIfAny(): void {
    if (this.#issues.length > 0) throw new ConfigError([...this.#issues].sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column));
  }
}
