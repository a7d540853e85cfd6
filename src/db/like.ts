/**
 * A LIKE pattern matching `text` anywhere, its wildcards (`%`, `_`) and the escape character taken literally
 * (use with `ESCAPE '\\'`, which SQLite and PostgreSQL both understand).
 */
export const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
