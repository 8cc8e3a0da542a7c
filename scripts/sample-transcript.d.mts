export declare function testOutput(failing: boolean): string;
export declare function sampleTranscript(options: { session: string; until?: number }): Array<[string, unknown, number]>;
