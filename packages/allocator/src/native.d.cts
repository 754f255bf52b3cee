export declare function loadNativeModule(name: string): { dir: string; module: unknown };
