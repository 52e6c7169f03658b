// Published subjects: never edit one in place. Add a new constant and keep the old one until every
// caller has moved.
export const TemplateSubjects = {
  CREATE: 'vm-operator.template.create',
  LIST: 'vm-operator.template.list',
  GET: 'vm-operator.template.get',
  DELETE: 'vm-operator.template.delete',
} as const;
