-- A delivery keeps the id of its endpoint after the endpoint is deleted. Cleared to NULL (as
-- the foreign key's ON DELETE SET NULL did), it looked like a delivery to the job's own
-- callback_url, and deleting an endpoint failed on the one-delivery-per-receiver constraint
-- when the job's callback_url, or another deleted endpoint, had the same URL. The worker
-- finds no secrets for a deleted endpoint's id and fails the delivery.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_endpoint_id_fkey;
