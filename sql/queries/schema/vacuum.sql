-- The whole embedded database, catalogs included (so its oldest transaction id can move on):
-- dead rows' space made reusable, old rows frozen. See src/db/vacuum.ts.
VACUUM
