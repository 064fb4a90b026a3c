/** One shell word: as is when it is plainly safe, else single-quoted (POSIX sh: no escapes inside '...'). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.+:~=@%/,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
