declare module 'apache-md5' {
  /** Apache's $apr1$ MD5 crypt of `password`; with `salt` (a full $apr1$ hash works) it reproduces that hash. */
  export default function md5(password: string, salt?: string): string;
}
