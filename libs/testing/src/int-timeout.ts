// Jest's testTimeout is a global option; projects set theirs here.
jest.setTimeout(30_000);
