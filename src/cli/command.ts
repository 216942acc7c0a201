export interface CliCommand { name: string; summary: string; usage: string; run(argv: string[], io: CliIo): Promise<number>; }
export interface CliIo { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; stdin: NodeJS.ReadableStream; env: NodeJS.ProcessEnv; cwd: string; signal: AbortSignal }
