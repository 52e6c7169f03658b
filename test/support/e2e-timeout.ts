// Jest's testTimeout is a global option; projects set theirs here.
jest.setTimeout(90_000);
