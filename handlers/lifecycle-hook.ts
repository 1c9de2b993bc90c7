// Placeholder until the handler lands; keeps `serverless package` building every function.
export const handler = async (): Promise<{ outcome: string }> => ({ outcome: 'not-implemented' });
