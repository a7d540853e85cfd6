/**
 * The typed shape of the database, assembled from each domain's table interfaces. Nullable columns are
 * `T | null`; columns the database fills are `Generated<T>`.
 */
export interface InstanceMetaTable {
  key: string
  value: string
  updated_at: string
}

export interface Database {
  instance_meta: InstanceMetaTable
}
